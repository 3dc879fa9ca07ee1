package dockerapi

import "testing"

// A secret file is referenced by ID and name, mounted at its target path,
// owned by root and readable by every user.
func TestServiceSpecSecrets(t *testing.T) {
	spec := ServiceSpec{Name: "p_web", Image: "sha256:x", Secrets: []ServiceSecret{{ID: "id1", Name: "p_web_tok_01234567", Target: "/etc/app/tok"}}}.swarm()
	refs := spec.TaskTemplate.ContainerSpec.Secrets
	if len(refs) != 1 {
		t.Fatalf("secret references: %+v", refs)
	}
	r := refs[0]
	if r.SecretID != "id1" || r.SecretName != "p_web_tok_01234567" || r.File == nil || r.File.Name != "/etc/app/tok" || r.File.UID != "0" || r.File.GID != "0" || r.File.Mode != 0o444 {
		t.Errorf("secret reference: %+v %+v", r, r.File)
	}
}
