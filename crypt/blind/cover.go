package blind

import "math/bits"

// CoverNode is a node of a range index's tree: the offsets o (of values,
// (v − Min) / Step) with o >> (B − Level) == Prefix, where B is the tree's
// number of levels. Level B nodes are single offsets; a Level 1 node is
// half of the tree.
type CoverNode struct {
	Level  int    // 1..B
	Prefix uint64 // the offsets' top Level bits
}

// RangeCover returns the nodes whose tokens [Tokenizer.RangeQuery] looks up
// for lo <= v <= hi, in ascending order of offset: the smallest set of tree
// nodes that holds exactly the offsets from olo = (max(lo, Min) − Min) /
// Step to ohi = (min(hi, Max) − Min) / Step. Offsets above the domain's
// largest, maxOffset, do not exist, so a node may reach past maxOffset when
// ohi is maxOffset. The cover is the set of maximal nodes of levels 1..B
// whose existing offsets are all in [olo, ohi]; the whole tree (level 0)
// has no token and is covered by its two halves. It returns nil when
// nothing of the domain is in [lo, hi], and for another kind of index.
func (t *Tokenizer) RangeCover(lo, hi int64) []CoverNode {
	if t.spec.Kind != TokenRange {
		return nil
	}
	d := t.spec.Domain
	lo, hi = max(lo, d.Min), min(hi, d.Max)
	if lo > hi {
		return nil
	}
	return dyadicCover(t.offset(lo), t.offset(hi), t.maxOffset, t.levels)
}

// dyadicCover returns the minimal cover of the offsets olo..ohi (olo <= ohi
// <= maxOffset) in a tree of B levels (1 <= B <= 63, maxOffset < 2^B)
// without its root.
//
// A node is a candidate when it holds an existing offset and all the
// existing offsets it holds are in [olo, ohi]. Candidates are nested or
// disjoint, so every cover holds, inside each maximal candidate, at least
// one node of its own; the maximal candidates are therefore a minimal
// cover, and the only one without nested or redundant nodes. Greedily from
// olo, the largest aligned block of at most half the tree that starts at
// o and is a candidate is maximal (a larger candidate holding o would
// start before o, and hold either an offset below olo or the previous,
// maximal, block). A block is a candidate when it ends by ohi or, if ohi
// is maxOffset, anywhere: so ohi is extended to 2^B − 1 and the scan stops
// past maxOffset.
func dyadicCover(olo, ohi, maxOffset uint64, B int) []CoverNode {
	if ohi == maxOffset {
		ohi = 1<<B - 1
	}
	var nodes []CoverNode
	for o := olo; ; {
		// The block's size is 2^k: aligned at o, at most half the tree,
		// and ending by ohi.
		k := B - 1
		if o != 0 {
			k = min(k, bits.TrailingZeros64(o))
		}
		for o+(1<<k)-1 > ohi {
			k--
		}
		nodes = append(nodes, CoverNode{Level: B - k, Prefix: o >> k})
		end := o + (1 << k) - 1
		if end >= ohi || end >= maxOffset {
			return nodes
		}
		o = end + 1
	}
}
