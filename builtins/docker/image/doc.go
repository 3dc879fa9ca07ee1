// Package image is ferry's image() rule and what is done with the images
// it builds: builds with the Docker Engine's classic builder or BuildKit,
// keyed on the build context, Dockerfile, build arguments and base images,
// and rebuilt only when that key changes or the image was removed from the
// Engine; the build context (.dockerignore, secret files it would send);
// pulls of base images and of the registry images that services run
// (PullImage, shared by both Docker targets); pushes (ferry push and
// push = True); pruning (ferry prune and down --rmi); and live update,
// which syncs changed files into the running containers of the project's
// services and runs the image's live_update steps there instead of a
// rebuild.
//
// The rule reaches the Engine through the Client interface, which
// *dockerapi.Client implements.
package image
