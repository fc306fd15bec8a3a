package reencrypt_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/reencrypt"
)

type tableOfContact struct {
	_        struct{} `crypt:"record=contact"`
	ID       int64    `crypt:"id,name=id"`
	TenantID string   `crypt:"scope"`
	Email    string   `crypt:"encrypt,class=pii,name=email"`
	EmailIdx string   `crypt:"blind=Email,transform=lower+trim,population=50000,name=email_idx"`
	Notes    []byte   `crypt:"encrypt,class=support,name=notes"`
}

type twoIDs struct {
	TenantID string `crypt:"scope"`
	OrderID  string `crypt:"id"`
	LineNo   int    `crypt:"id"`
	Memo     string `crypt:"encrypt"`
}

// TestTableOfRoundTrips: the table TableOf derives from a struct writes
// as YAML that LoadConfig reads back to the same table, and describes the
// struct's own plan.
func TestTableOfRoundTrips(t *testing.T) {
	tab, err := reencrypt.TableOf("crm.contacts", "", &tableOfContact{})
	require.NoError(t, err)
	assert.Equal(t, "id", tab.PrimaryKey)
	assert.Equal(t, reencrypt.KeyInteger, tab.KeyType)
	spec, err := crypt.SchemaOf(tableOfContact{})
	require.NoError(t, err)
	assert.Equal(t, spec, tab.SchemaSpec)

	var buf bytes.Buffer
	require.NoError(t, reencrypt.WriteConfig(&buf, &reencrypt.Config{Tables: []reencrypt.Table{tab}}))
	for _, want := range []string{"tables:", "name: crm.contacts", "primary_key: id", "record: contact", "encrypted:", "population: 50000", "bits: 11"} {
		assert.Contains(t, buf.String(), want)
	}
	back, err := reencrypt.ParseConfig(buf.Bytes())
	require.NoError(t, err, "ParseConfig(%s)", buf.String())
	require.Len(t, back.Tables, 1)
	assert.Equal(t, tab.SchemaSpec, back.Tables[0].SchemaSpec)
	assert.Equal(t, tab.Name, back.Tables[0].Name)
	assert.Equal(t, tab.KeyType, back.Tables[0].KeyType)
}

func TestTableOfNeedsAPrimaryKeyItCanPageBy(t *testing.T) {
	_, err := reencrypt.TableOf("lines", "", twoIDs{})
	var ce *reencrypt.ConfigError
	require.ErrorAs(t, err, &ce, "two identities and no primary key")
	assert.Contains(t, err.Error(), "2 identity columns")

	tab, err := reencrypt.TableOf("lines", "order_id", twoIDs{})
	require.NoError(t, err)
	assert.Equal(t, reencrypt.KeyText, tab.KeyType)

	_, err = reencrypt.TableOf("lines", "nope", twoIDs{})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "nope", ce.Column)
}
