package k8s

import "github.com/ferryhq/ferry/builtins/deploy"

// TargetKind returns the kind of target of Kubernetes environments
// (deploy.TargetKubernetes), whose targets push the images that image()
// rules build with images.
func TargetKind(images ImagePusher) deploy.TargetKind {
	return deploy.TargetKind{Name: deploy.TargetKubernetes, New: func(s deploy.TargetSetup) deploy.TargetMaker {
		return &Targets{Redactor: s.Redactor, Images: images, Warn: s.Warn}
	}}
}
