package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

const leakageLong = `leakage reports what the blind-index columns and the token side tables of
the configured tables show to someone who can read the database but holds
no key: for each index, the rows that carry a value, the distinct values
(or tokens), the share of rows in the largest bucket (rows the index
cannot tell apart), the shares of the most common values or tokens, and
for token indexes the tokens per row (least, median, most), which tell
value lengths. It gives the planner's verdict on the configured width and,
where one value dominates, a coarser setting to use instead.

It needs no key: it never reads the keyset table, the keyring or any KEK,
and reads no encrypted column, only the index columns, the scope column,
the primary key and the side tables. It connects to the CRM database
(database; without it, the keyset store's database, as the job does when
the two are one). Run it with a read-only database role.

Keys are per scope (tenant), so each scope's index leaks on its own: every
index is measured in each scope. The table shows, per index, the overall
figures ("(all scopes)": every scope's buckets pooled, each kept apart by
its scope) and the worst scope (the one whose largest bucket holds the
largest share of its rows, among scopes with at least 20 indexed rows).
The verdict and the recommendation are about the worst scope.

A bucket is one value of a blind index, one element of a set index, and
one whole token set of a prefix, suffix, substring or range index (rows
with equal token sets most likely hold equal values). One value dominates
a scope when its largest bucket holds more than 5% of its indexed rows and
more than 10 times the share an even spread over its buckets would give
(and it has at least 20 indexed rows). Then:

  equality and set indexes: use the planner's width for the effective
    number of values 1/Σp² (p: each bucket's share), when narrower;
  prefix, suffix and substring indexes: k fewer bits, k = ceil(log2(buckets
    / effective values)), at least 1;
  range indexes: a step (timestamp: a precision) 2^k times coarser;

or, where no narrower setting helps, leave the dominant value out of the
index. The planner's verdict is blind.Check for equality and set indexes,
over the distinct values estimated from the index values seen (linear
counting), the token planner's leakage rule for prefix, suffix and
substring indexes, and a description of the tree for range indexes.

A new width or step is a new index: see docs/ROTATION.md, "Changing an
index's width, transforms or name". The command changes nothing. It exits 0 when it could measure
every table, whatever it found (read "recommendations" in --json), 1 on a
database error, 64 for a configured table or column the database lacks.

` + tablesHelp

const leakageExample = `  fieldcrypt leakage
  fieldcrypt leakage --table contacts
  fieldcrypt leakage --table contacts --json | jq '.tables[].indexes[] | select(.dominant)'

  # Output (abridged):
  # TABLE     INDEX                              KIND      BITS  SCOPE           ROWS  INDEXED  DISTINCT  BUCKETS  TOP SHARE  TOP SHARES ...  TOKENS/ROW (MIN/MEDIAN/MAX)
  # accounts  email_idx                          equality  6     (all scopes)    400   400      128       128      20.5%      20.5% 1.0% ...  -
  # accounts  email_idx                          equality  6     globex (worst)  200   200      64        64       41.0%      41.0% 1.5% ...  -
  # accounts  NamePrefix (accounts_name_prefix)  prefix    12    globex (worst)  200   200      127       88       40.0%      40.0% 3.0% ...  1/3/4
  #
  # accounts email_idx: one value dominates 1 of 2 scopes (worst: globex, 41.0% of its indexed rows in one bucket; about 5.7 effective values)
  #   recommendation: one bucket holds 41.0% of the rows in scope "globex": use fewer bits, 1 instead of 6 (...); if that
  #   leaves the index too coarse for queries, leave the dominant value out of the index`

// leakageReport is the output of leakage.
type leakageReport struct {
	Tables []*reencrypt.LeakageReport `json:"tables"`
	// Recommendations counts the indexes with a recommendation.
	Recommendations int `json:"recommendations"`
}

func (a *app) leakageCommand() *cobra.Command {
	var (
		tables []string
		top    int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:     "leakage",
		Short:   "Measure what blind indexes and token indexes show without keys, and advise",
		Long:    leakageLong,
		Example: leakageExample,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if top < 1 || top > 100 {
				return usagef("--top %d: want 1 to 100", top)
			}
			// The CRM database only (the keyset store's when database is
			// unset): never the keyset table, the keyring or a KEK.
			jdb, err := a.openJobDB(ctx, tables)
			if err != nil {
				return err
			}
			var rep leakageReport
			for _, t := range jdb.tables {
				r, err := reencrypt.Leakage(ctx, jdb.db, jdb.dialect, t, &reencrypt.LeakageOptions{Top: top})
				if err != nil {
					return tablesError(fmt.Errorf("leakage of table %s: %w", t.Name, err))
				}
				for _, il := range r.Indexes {
					if il.Recommendation != "" {
						rep.Recommendations++
					}
				}
				rep.Tables = append(rep.Tables, r)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return writeLeakage(out, rep)
		},
	}
	cmd.Flags().StringArrayVar(&tables, "table", nil, "measure this configured table only (repeatable; default: every table)")
	cmd.Flags().IntVar(&top, "top", 5, "how many of the largest shares to list")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

// writeLeakage prints the report as a table, then each index's verdict
// and recommendation.
func writeLeakage(out io.Writer, rep leakageReport) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tINDEX\tKIND\tBITS\tSCOPE\tROWS\tINDEXED\tDISTINCT\tBUCKETS\tTOP SHARE\tTOP SHARES\tTOP TOKEN SHARES\tTOKENS/ROW (MIN/MEDIAN/MAX)")
	line := func(t string, il reencrypt.IndexLeakage, st reencrypt.LeakageStats, scope string) {
		perRow := "-"
		if tc := st.TokensPerRow; tc != nil {
			perRow = fmt.Sprintf("%d/%s/%d", tc.Min, strconv.FormatFloat(tc.Median, 'f', -1, 64), tc.Max)
		}
		name := il.Index
		if il.SideTable != "" {
			name += " (" + il.SideTable + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n", t, name, il.Kind, il.Bits, scope,
			st.Rows, st.Indexed, st.Distinct, st.Buckets, percent(st.TopShare), percents(st.TopShares), percents(st.TopTokenShares), perRow)
	}
	for _, t := range rep.Tables {
		for _, il := range t.Indexes {
			line(t.Table, il, il.Overall, "(all scopes)")
			if t.Scopes > 1 && il.Worst.Scope != "" {
				line(t.Table, il, il.Worst, il.Worst.Scope+" (worst)")
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range rep.Tables {
		for _, il := range t.Indexes {
			if !il.Dominant && len(il.Verdict) == 0 {
				continue
			}
			fmt.Fprintf(out, "\n%s %s:", t.Table, il.Index)
			if il.Dominant {
				fmt.Fprintf(out, " one value dominates %d of %d scopes (worst: %s, %s of its indexed rows in one bucket; about %s effective values)",
					il.DominantScopes, t.Scopes, il.Worst.Scope, percent(il.Worst.TopShare), strconv.FormatFloat(il.Worst.Effective, 'f', -1, 64))
			}
			fmt.Fprintln(out)
			for _, v := range il.Verdict {
				fmt.Fprintf(out, "  planner: %s\n", v)
			}
			if il.Recommendation != "" {
				fmt.Fprintf(out, "  recommendation: %s\n", il.Recommendation)
			}
		}
	}
	if rep.Recommendations == 0 {
		fmt.Fprintln(out, "\nNo index has one value dominating a scope.")
	} else {
		fmt.Fprintf(out, "\n%d indexes have a recommendation: a new width or step is a new index (docs/ROTATION.md, \"Changing an index's width, transforms or name\").\n", rep.Recommendations)
	}
	return nil
}

func percent(x float64) string { return strconv.FormatFloat(100*x, 'f', 1, 64) + "%" }

func percents(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = percent(x)
	}
	return strings.Join(out, " ")
}
