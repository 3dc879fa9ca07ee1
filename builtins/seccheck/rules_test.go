package seccheck

import (
	"os"
	"strings"
	"testing"
)

// TestRulesDocumented checks that docs/security.md has a table row for
// every rule, with the rule's severity.
func TestRulesDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, r := range Rules {
		if row := "| " + r.ID + " | " + string(r.Severity) + " |"; !strings.Contains(doc, row) {
			t.Errorf("docs/security.md has no row %q", row)
		}
		if r.Fix == "" || r.Title == "" {
			t.Errorf("%s has no title or fix", r.ID)
		}
	}
}
