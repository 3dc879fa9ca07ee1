// Package local is the deploy target of the local Docker Engine
// (environment target "docker", and no environment): it runs services and
// jobs as containers on one bridge network per project, replaces them by
// rolling out a replica at a time, scales them, follows their crashes and
// health, execs and restarts, mounts their configs and secret files, and
// reads back what docker.inspect shows. Its Target is also the
// deploy.TargetMaker of its kind. Package swarm reuses its pieces for the
// task containers of this node.
package local
