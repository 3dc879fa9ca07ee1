package dockerapi

// Registry credentials, read from the Docker CLI's configuration by the
// Docker CLI's own code: config.json's "auths", "credHelpers" and
// "credsStore" (through the docker-credential-* helpers), and
// DOCKER_AUTH_CONFIG. Pulls and pushes send them to the Engine with each
// call; BuildKit asks for them over the build's session.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/distribution/reference"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/docker/api/types/registry"
)

// configDir is the Docker CLI's configuration folder: $DOCKER_CONFIG, or
// ~/.docker ("" when there is no home folder).
func configDir() string {
	if dir := os.Getenv(config.EnvOverrideConfigDir); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker")
}

// dockerConfig loads the Docker CLI's configuration as the CLI does, with
// the default credentials store of the platform when it names none and
// holds no credentials; nil when there is no configuration folder.
func dockerConfig() (*configfile.ConfigFile, error) {
	dir := configDir()
	if dir == "" {
		return nil, nil
	}
	cf, err := config.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("read Docker credentials: %w; fix %s, or move it away to use no credentials", err, cf.Filename)
	}
	if !cf.ContainsAuth() {
		cf.CredentialsStore = credentials.DetectDefaultStore(cf.CredentialsStore)
	}
	return cf, nil
}

// RegistryHost returns the registry host of an image reference
// ("docker.io" for a name without one).
func RegistryHost(ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid image reference: %w", ref, err)
	}
	return reference.Domain(named), nil
}

// RegistryAuth returns the X-Registry-Auth value for pulling or pushing
// ref, with the credentials `docker login` stored for its registry, as
// the Docker CLI finds them: in config.json ($DOCKER_CONFIG/config.json or
// ~/.docker/config.json) "auths", or from the credential helper that
// "credHelpers" names for the registry, or from the "credsStore". It is
// "" when there are none.
func RegistryAuth(ref string) (string, error) {
	host, err := RegistryHost(ref)
	if err != nil {
		return "", err
	}
	cf, err := dockerConfig()
	if err != nil || cf == nil {
		return "", err
	}
	ac, err := cf.GetAuthConfig(host)
	if err != nil {
		helper := cf.CredentialHelpers[host]
		if helper == "" {
			helper = cf.CredentialsStore
		}
		if helper != "" {
			return "", fmt.Errorf("read the credentials for %s from docker-credential-%s, which %s names: %w; install that helper on the PATH, or run `docker login %s` again", host, helper, cf.Filename, err, host)
		}
		return "", fmt.Errorf("read the credentials for %s from %s: %w", host, cf.Filename, err)
	}
	if ac.Username == "" && ac.Password == "" && ac.IdentityToken == "" && ac.RegistryToken == "" && ac.Auth == "" {
		return "", nil
	}
	enc, err := registry.EncodeAuthConfig(registry.AuthConfig{
		Username: ac.Username, Password: ac.Password, Auth: ac.Auth, ServerAddress: ac.ServerAddress,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken,
	})
	if err != nil {
		return "", errors.New("encode the registry credentials: " + err.Error())
	}
	return enc, nil
}
