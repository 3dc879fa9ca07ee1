package deploy

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"maps"
	"path"
	"path/filepath"
	"slices"

	"github.com/ferryhq/ferry/engine"
)

// declareSecrets splits service(env=) into plain values and secrets, and
// checks service(secret_files=).
func declareSecrets(c *engine.Call, s *ServiceSpec) error {
	env, _ := c.Value("env").(map[string]engine.EnvValue)
	for k, v := range env {
		if v.Secret == nil {
			if s.Env == nil {
				s.Env = map[string]string{}
			}
			s.Env[k] = v.Plain
			continue
		}
		if s.Secrets == nil {
			s.Secrets = map[string]engine.Secret{}
		}
		s.Secrets[k] = v.Secret
	}
	s.SecretFiles, _ = c.Value("secret_files").(map[string]engine.Secret)
	for p := range s.SecretFiles {
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			return c.Errorf("secret_files: %q is not a clean absolute path of a file in the container; write it as /run/secrets/NAME", p)
		}
	}
	return nil
}

// Secrets returns the secrets the service or job passes to its containers.
func (r *Rule) Secrets() []engine.Secret {
	return append(slices.Collect(maps.Values(r.spec.Secrets)), slices.Collect(maps.Values(r.spec.SecretFiles))...)
}

// revealSecrets reads the rule's secrets into d: environment values, and
// files written (mode 0444, in 0700 folders) under SecretDir. Files are
// named by the HMAC of their content, so a container keeps the file it
// was started with while a new value is written beside it.
func (r *Rule) revealSecrets(rc *engine.RunContext, d *Deployment) error {
	s := r.spec
	if len(s.Secrets) == 0 && len(s.SecretFiles) == 0 {
		return nil
	}
	_, mounts := r.plugin.Target.(interface{ MountsSecretFiles() })
	_, stores := r.plugin.Target.(interface{ StoresSecretFiles() })
	if len(s.SecretFiles) > 0 && !mounts && !stores {
		return fmt.Errorf("secret_files (at %s) are not supported by this environment's target: pass the secrets in env, or deploy to the local Docker Engine", r.info.Pos)
	}
	var labelHash hash.Hash = sha256.New() // over HMACs only, never values
	d.SecretEnv = map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(s.Secrets)) {
		v, keyed, ok, err := reveal(rc, s.Secrets[k])
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		d.SecretEnv[k] = v
		fmt.Fprintf(labelHash, "env %s %s\n", k, keyed)
	}
	if len(s.SecretFiles) > 0 {
		// A target that stores secrets (Swarm) takes the values; for one
		// that mounts them, they are written to the host's secret folder.
		var dir string
		if stores {
			d.SecretFileValues = map[string]SecretFileValue{}
		} else {
			var err error
			if dir, err = makeSecretDir(d.Project, s.Name); err != nil {
				return fmt.Errorf("secret_files (at %s): %w", r.info.Pos, err)
			}
			d.SecretFiles = map[string]string{}
		}
		for _, p := range slices.Sorted(maps.Keys(s.SecretFiles)) {
			v, keyed, ok, err := reveal(rc, s.SecretFiles[p])
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if stores {
				d.SecretFileValues[p] = SecretFileValue{Value: v, HMAC: keyed}
			} else {
				host := filepath.Join(dir, keyed[:32])
				if err := writeSecretFile(host, v); err != nil {
					return fmt.Errorf("secret_files %s: %w", p, err)
				}
				d.SecretFiles[p] = host
			}
			fmt.Fprintf(labelHash, "file %s %s\n", p, keyed)
		}
	}
	d.SecretsHash = fmt.Sprintf("%x", labelHash.Sum(nil))
	return nil
}

// reveal returns a secret's value and its keyed hash (HMAC); ok is false
// when the secret is optional and absent.
func reveal(rc *engine.RunContext, sec engine.Secret) (value, keyed string, ok bool, err error) {
	value, err = sec.Reveal(rc)
	if errors.Is(err, engine.ErrSecretAbsent) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	keyed, err = sec.Keyed(rc, rc.Workspace)
	return value, keyed, err == nil, err
}
