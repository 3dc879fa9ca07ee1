package k8s

import (
	"context"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferryhq/ferry/builtins/deploy"
)

func TestRenderVolumes(t *testing.T) {
	web := webService()
	web.Spec.Volumes = []deploy.Volume{
		{Source: "shop_data", Target: "/data"},
		{Target: "/scratch", Anonymous: true},
		{Source: "shared-cache", Target: "/cache", ReadOnly: true, External: true},
	}
	job := migrateJob()
	job.Spec.Volumes = []deploy.Volume{{Source: "shop_data", Target: "/var/lib/db"}}
	files, err := testTarget().Render([]*deploy.Deployment{web, job})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(slices.Sorted(maps.Keys(files)), "persistentvolumeclaim-shop-data.yaml") {
		t.Fatalf("no claim of the volume among %v", slices.Sorted(maps.Keys(files)))
	}
	for name := range files {
		if strings.HasPrefix(name, "persistentvolumeclaim-") && name != "persistentvolumeclaim-shop-data.yaml" {
			t.Errorf("%s: only the volume that ferry makes has a claim (not the external or anonymous ones)", name)
		}
	}
	pvc := decodeStrict(t, "claim", files["persistentvolumeclaim-shop-data.yaml"]).(*corev1.PersistentVolumeClaim)
	if pvc.Labels[LabelProject] != "shop" || pvc.Labels[LabelWorkspace] != "0123456789abcdef01234567" || pvc.Labels[LabelRule] != "" {
		t.Errorf("claim labels %v: the project's and workspace's, no rule's", pvc.Labels)
	}
	if q := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse(claimSize)) != 0 || !slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
		t.Errorf("claim spec %+v", pvc.Spec)
	}
	dep := decodeStrict(t, "deployment", files["deployment-web.yaml"]).(*appsv1.Deployment)
	pod := dep.Spec.Template.Spec
	byName := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		byName[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range pod.Containers[0].VolumeMounts {
		mounts[m.MountPath] = m
	}
	for path, want := range map[string]func(corev1.Volume) bool{
		"/data": func(v corev1.Volume) bool {
			return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "shop-data"
		},
		"/scratch": func(v corev1.Volume) bool { return v.EmptyDir != nil },
		"/cache": func(v corev1.Volume) bool {
			return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == "shared-cache" && v.PersistentVolumeClaim.ReadOnly
		},
	} {
		m, ok := mounts[path]
		if !ok || !want(byName[m.Name]) {
			t.Errorf("%s: mount %+v of volume %+v", path, m, byName[m.Name])
		}
	}
	if !mounts["/cache"].ReadOnly || mounts["/data"].ReadOnly {
		t.Errorf("read-only mounts: %+v", mounts)
	}
}

// volumeSrc appends its VERSION to /data/boots when it starts, and
// prints that file when run as `show`.
const volumeSrc = `package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "show" {
		b, err := os.ReadFile("/data/boots")
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.Stdout.Write(b)
		return
	}
	f, err := os.OpenFile("/data/boots", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Fprintln(f, os.Getenv("VERSION"))
	f.Close()
	for {
		time.Sleep(time.Hour)
	}
}
`

// TestVolumeSurvivesRollout mounts a named volume, bound to a hostPath
// PersistentVolume that the test makes (the test cluster has no
// provisioner): what the first pod wrote is there for the pod of the next
// rollout; down keeps the claim, down --volumes removes it.
func TestVolumeSurvivesRollout(t *testing.T) {
	c := needCluster(t, true)
	ns, admin := testNamespace(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "ferry-pv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-" + ns},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}},
			ClaimRef:                      &corev1.ObjectReference{Namespace: ns, Name: "boot-data"},
		},
	}
	if _, err := admin.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
	})
	ref := "ferry.local/k8stest-volume:" + randomHex(t)
	if err := c.ImportImage(staticImage(t, ref, volumeSrc)); err != nil {
		t.Fatal(err)
	}
	waitServiceAccount(t, ctx, admin, ns)
	tg := targetIn(ns, ownerA)
	for v := 1; v <= 2; v++ {
		d := service("web", ref, v)
		d.Spec.Volumes = []deploy.Volume{{Source: "boot_data", Target: "/data"}}
		if err := tg.Deploy(ctx, d, io.Discard); err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
	}
	var out strings.Builder
	code, err := tg.Exec(ctx, deploy.ExecRequest{Project: "shop", Service: "web", Cmd: []string{"/app", "show"}, Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		t.Fatalf("show: code %d, %v: %s", code, err, out.String())
	}
	if out.String() != "1\n2\n" {
		t.Errorf("/data/boots after a rollout: %q, want what both versions wrote", out.String())
	}

	removed, err := tg.Down(ctx, "shop", false)
	if err != nil || slices.Contains(removed, "persistentvolumeclaim/boot-data") {
		t.Fatalf("down: %v, %v", removed, err)
	}
	if _, err := admin.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "boot-data", metav1.GetOptions{}); err != nil {
		t.Fatalf("down removed the claim: %v", err)
	}
	removed, err = tg.Down(ctx, "shop", true)
	if err != nil || !slices.Contains(removed, "persistentvolumeclaim/boot-data") {
		t.Fatalf("down --volumes: %v, %v", removed, err)
	}
}
