package image

import "github.com/ferryhq/ferry/engine"

// LastBuilt returns the references of the images of imgs that st records
// as their rules' last successful builds: those that pruning protects.
func LastBuilt(imgs []*Image, st *engine.State) []string {
	var refs []string
	for _, img := range imgs {
		if rs := st.Rule(img.info.Name); rs != nil {
			refs = append(refs, img.Ref(rs.Key))
		}
	}
	return refs
}
