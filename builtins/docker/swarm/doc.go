// Package swarm is the deploy target of Docker Swarm (environment target
// "swarm"): it runs services and jobs as Swarm services of the swarm the
// local Engine manages, with Swarm secrets and configs, follows and
// scales their tasks, and reads the health and output of the tasks on
// this node as package local does for containers. Targets makes a Target
// for each environment that deploys to a swarm.
package swarm
