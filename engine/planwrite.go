package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WritePlanJSON prints items as `ferry plan --json` does: indented, with
// the field names of PlanItem.
func WritePlanJSON(w io.Writer, items []PlanItem) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(items)
}

// WritePlan prints items as `ferry plan` does: a line per rule, saying
// whether it would run and why, or fail, then how many would run.
func WritePlan(w io.Writer, items []PlanItem) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	n, errs := 0, 0
	for _, it := range items {
		switch {
		case it.Err != "":
			errs++
			fmt.Fprintf(tw, "error\t%s\t%s\n", it.Rule, it.Err)
		case it.Run:
			n++
			fmt.Fprintf(tw, "would run\t%s\t%s\n", it.Rule, ReasonText(it.Reasons))
		default:
			fmt.Fprintf(tw, "up to date\t%s\t\n", it.Rule)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d rules would run", n, len(items))
	if errs > 0 {
		fmt.Fprintf(w, "; %d would fail", errs)
	}
	fmt.Fprintln(w)
}
