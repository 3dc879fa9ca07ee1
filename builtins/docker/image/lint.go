package image

// DockerfileSpec returns how the image is built, for the security checks:
// the workspace-relative Dockerfile, the build arguments and the target
// stage ("" for the last).
func (i *Image) DockerfileSpec() (dockerfile string, buildArgs map[string]string, target string) {
	return i.dockerfile, i.buildArgs, i.target
}
