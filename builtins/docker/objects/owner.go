package objects

import (
	"fmt"

	"github.com/ferryhq/ferry/builtins/deploy"
)

// Labels that say which workspace made an object (see deploy.Owner).
const (
	LabelWorkspace     = "ferry.workspace"      // the workspace's Owner.ID
	LabelWorkspacePath = "ferry.workspace.path" // its root, to say whose an object is
)

// OwnLabels adds o's labels to l, and returns l; the zero Owner adds none.
func OwnLabels(o deploy.Owner, l map[string]string) map[string]string {
	if o.ID != "" {
		l[LabelWorkspace], l[LabelWorkspacePath] = o.ID, o.Path
	}
	return l
}

// A ForeignError is an object of the project that another workspace's
// labels claim: ferry leaves it alone.
type ForeignError struct {
	Project    string
	Kind, Name string       // the object: "container", "shop-web-1"
	Other      deploy.Owner // the workspace that made it; its Path "" when not recorded
	Mine       deploy.Owner // this workspace
}

func (e *ForeignError) Error() string {
	whose, where := "another workspace ("+LabelWorkspace+"="+e.Other.ID+")", "in that workspace"
	if e.Other.Path != "" {
		whose, where = "the workspace at "+e.Other.Path, "in "+e.Other.Path
	}
	return fmt.Sprintf("project %s belongs to %s (its %s %s carries that workspace's label), and this workspace, %s, has the same project name; ferry leaves another workspace's services alone: give this one another project (--project NAME, or FERRY_PROJECT=NAME), or run `ferry down` %s first",
		e.Project, whose, e.Kind, e.Name, e.Mine.Path, where)
}

// Foreign returns a *ForeignError when labels, those of an object of the
// project, name another workspace than o. An object without the label,
// made by a ferry that did not label workspaces, is adopted: it is o's,
// and what ferry replaces it with carries o's label. With the zero Owner
// nothing is foreign.
func Foreign(o deploy.Owner, project, kind, name string, labels map[string]string) error {
	id := labels[LabelWorkspace]
	if o.ID == "" || id == "" || id == o.ID {
		return nil
	}
	return &ForeignError{Project: project, Kind: kind, Name: name, Other: deploy.Owner{ID: id, Path: labels[LabelWorkspacePath]}, Mine: o}
}

// IsForeign reports whether labels name another workspace than o.
func IsForeign(o deploy.Owner, labels map[string]string) bool {
	return Foreign(o, "", "", "", labels) != nil
}
