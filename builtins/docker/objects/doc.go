// Package objects describes the Docker Engine objects that ferry creates,
// for the image rule and for both Docker deploy targets (local containers
// and Swarm services): the labels they carry, which say whose project,
// rule and workspace they are (and so what ferry may touch), the lock that
// lets one change of a service's containers run at a time in the process,
// and the conversion of a service's spec into the Engine's container
// settings and health check, which containers and Swarm tasks share.
package objects
