package main

import (
	"context"
	"strings"
	"testing"
)

// TestQuickstart runs the example end to end and checks what it shows.
func TestQuickstart(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out, false); err != nil {
		t.Fatalf("run() err = %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"c-1: Ada Lovelace <ada@example.com>",
		"1000 more decryptions made 0 KMS calls",
		`support role: notes "asked about invoice 42"; name fc1:`,
		"no access to class pii",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "name=Ada") {
		t.Errorf("the table dump shows a plaintext name:\n%s", got)
	}
}
