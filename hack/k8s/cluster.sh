#!/usr/bin/env bash
# cluster.sh: a real single-node Kubernetes cluster on 127.0.0.1 for ferry's tests.
#
#   hack/k8s/cluster.sh build     build the binaries once (cached; ~12 min cold on 2 cores)
#   hack/k8s/cluster.sh built     exit 0 when the binaries are built and current
#   hack/k8s/cluster.sh bin       print the folder of the binaries (kubectl is there)
#   hack/k8s/cluster.sh deps      install etcd, containerd and the CNI plugins if missing (apt)
#   hack/k8s/cluster.sh up [api]  start the cluster ("api": etcd + kube-apiserver only)
#   hack/k8s/cluster.sh env       print KUBECONFIG=... for the running cluster
#   hack/k8s/cluster.sh down      stop every process by its PID, unmount, remove the bridge and cgroups
#
# Everything it starts listens on 127.0.0.1 and lives under $FERRY_K8S_RUN (default
# /tmp/ferry-k8s): certificates from a CA made here, etcd data, containerd's own root, state and
# socket (Docker's containerd keeps running beside it), the kubeconfig. Binaries are built from
# k8s.io/kubernetes (hack/k8s/kubebin pins the version) into $FERRY_K8S_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/ferry-k8s); the Go build cache makes a rebuild cheap too.
#
# This machine's quirks (issue 16): cgroup v1 without systemd (kubelet failCgroupV1: false,
# cgroupDriver: cgroupfs); containerd CRI restrict_oom_score_adj = true (no CAP_SYS_RESOURCE); the
# kubelet rewrites host sysctls, so it and its containerd run in a private mount namespace where
# those files are bind-mounted; the node is named localhost; the pause image is built FROM scratch
# from a static Go program and imported with ctr. No kube-proxy and no DNS: use pod IPs or
# port-forward.
set -euo pipefail

K8S_VERSION=v1.37.2
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${FERRY_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry-k8s}/$K8S_VERSION"
BIN="$CACHE/bin"
RUN="${FERRY_K8S_RUN:-/tmp/ferry-k8s}"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
# Ports: all on 127.0.0.1, chosen away from the defaults so a real cluster on the host is untouched.
ETCD_PORT="${FERRY_K8S_ETCD_PORT:-23790}"
ETCD_PEER_PORT=$((ETCD_PORT + 1))
API_PORT="${FERRY_K8S_API_PORT:-26443}"
KUBELET_PORT="${FERRY_K8S_KUBELET_PORT:-20250}"
REGISTRY="${FERRY_K8S_REGISTRY:-127.0.0.1:25000}"
BRIDGE=ferryk8s0
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
PAUSE_IMAGE=ferry.local/pause:1

log() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# --- build --------------------------------------------------------------------------------------

built() {
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
  [[ -f "$BIN/.stamp" && "$(cat "$BIN/.stamp")" == "$(stamp)" ]]
}

# stamp names what the binaries were built from: a change to the wrapper module rebuilds them.
stamp() { cat "$HERE/kubebin/go.mod" "$HERE/kubebin/go.sum" | sha256sum | cut -d' ' -f1; }

cmd_build() {
  if built; then log "binaries are current in $BIN"; return; fi
  mkdir -p "$BIN"
  local start=$SECONDS pkgs=() b
  for b in "${BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  log "building ${BINARIES[*]} $K8S_VERSION into $BIN (the first build takes ~12 min on 2 cores)"
  local ver=k8s.io/component-base/version
  (cd "$HERE/kubebin" && CGO_ENABLED=0 go build -o "$BIN/" \
    -ldflags "-s -w -X $ver.gitVersion=$K8S_VERSION -X $ver.gitMajor=1 -X $ver.gitMinor=37 -X $ver.gitTreeState=clean" \
    "${pkgs[@]}")
  stamp >"$BIN/.stamp"
  log "built in $((SECONDS - start))s"
}

# --- dependencies -------------------------------------------------------------------------------

cmd_deps() {
  local missing=()
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v containerd >/dev/null && command -v ctr >/dev/null || missing+=(containerd)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  [[ ${#missing[@]} -eq 0 ]] && return
  [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
  log "installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --- certificates -------------------------------------------------------------------------------

# cert NAME CN O SANS: a key and a certificate signed by the cluster's CA.
cert() {
  local name=$1 cn=$2 o=$3 sans=$4 dir="$RUN/pki"
  openssl genrsa -out "$dir/$name.key" 2048 2>/dev/null
  local subj="/CN=$cn"
  [[ -n $o ]] && subj="/O=$o$subj"
  openssl req -new -key "$dir/$name.key" -subj "$subj" -out "$dir/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [[ -n $sans ]] && echo "subjectAltName=$sans"
  } >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

make_pki() {
  local dir="$RUN/pki"
  mkdir -p "$dir"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -out "$dir/ca.crt" \
    -subj "/CN=ferry-test-ca" -days 30 2>/dev/null
  cert apiserver kube-apiserver "" \
    "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  cert admin ferry-admin system:masters ""
  cert kubelet system:node:localhost system:nodes "IP:127.0.0.1,DNS:localhost"
  openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
}

# kubeconfig FILE CERTNAME: a kubeconfig for the cluster, with the certificate embedded so the
# file can be copied.
kubeconfig() {
  local file=$1 name=$2
  cat >"$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: ferry-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 <"$RUN/pki/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 <"$RUN/pki/$name.crt")
    client-key-data: $(base64 -w0 <"$RUN/pki/$name.key")
contexts:
- name: ferry-test
  context: {cluster: ferry-test, user: $name, namespace: default}
current-context: ferry-test
KC
}

# --- processes ----------------------------------------------------------------------------------

# start NAME CMD...: run a process in the background, its log in $RUN/log/NAME.log, its PID in
# $RUN/pid/NAME.
start() {
  local name=$1; shift
  mkdir -p "$RUN/log" "$RUN/pid"
  "$@" >"$RUN/log/$name.log" 2>&1 &
  echo $! >"$RUN/pid/$name"
}

# wait_for WHAT SECONDS CMD...: poll until CMD succeeds.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "$what did not come up within ${secs}s; logs in $RUN/log"
      tail -n 20 "$RUN"/log/*.log >&2 || true
      return 1
    fi
    sleep 0.3
  done
}

kubectl_() { "$BIN/kubectl" --kubeconfig "$RUN/admin.kubeconfig" "$@"; }

up_control_plane() {
  start etcd etcd --name ferry-test --data-dir "$RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "ferry-test=http://127.0.0.1:$ETCD_PEER_PORT" \
    --quota-backend-bytes 1073741824
  wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"
  local pki="$RUN/pki"
  start kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --kubelet-client-certificate "$pki/admin.crt" --kubelet-client-key "$pki/admin.key" \
    --kubelet-certificate-authority "$pki/ca.crt" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode Node,RBAC --allow-privileged \
    --endpoint-reconciler-type none \
    --profiling=false
  wait_for kube-apiserver 60 curl -fsS --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$API_PORT/readyz"
}

up_controllers() {
  local pki="$RUN/pki"
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$RUN/admin.kubeconfig" --authentication-kubeconfig "$RUN/admin.kubeconfig" \
    --authorization-kubeconfig "$RUN/admin.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --use-service-account-credentials \
    --profiling=false
  start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$RUN/admin.kubeconfig" --authentication-kubeconfig "$RUN/admin.kubeconfig" \
    --authorization-kubeconfig "$RUN/admin.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false --profiling=false
}

# The node's processes live in a cgroup of their own under /ferry-k8s, and the kubelet's pods
# under /ferry-k8s/kubepods: down kills whatever is left there and removes the cgroups.
CGROUP_ROOT=ferry-k8s

cgroup_dirs() {
  local c
  for c in /sys/fs/cgroup/*/; do
    [[ -f "$c/cgroup.procs" ]] && echo "${c%/}"
  done
}

make_cgroups() {
  local c
  for c in $(cgroup_dirs); do
    mkdir -p "$c/$CGROUP_ROOT"
    if [[ -f "$c/cpuset.cpus" ]]; then
      cat "$c/cpuset.cpus" >"$c/$CGROUP_ROOT/cpuset.cpus"
      cat "$c/cpuset.mems" >"$c/$CGROUP_ROOT/cpuset.mems"
    fi
    mkdir -p "$c/$CGROUP_ROOT/node"
    if [[ -f "$c/cpuset.cpus" ]]; then
      cat "$c/cpuset.cpus" >"$c/$CGROUP_ROOT/node/cpuset.cpus"
      cat "$c/cpuset.mems" >"$c/$CGROUP_ROOT/node/cpuset.mems"
    fi
  done
}

write_node_config() {
  local ctd="$RUN/containerd"
  mkdir -p "$ctd/root" "$ctd/state" "$ctd/certs.d/$REGISTRY" "$RUN/cni/net.d" "$RUN/kubelet" "$RUN/sysctl" "$RUN/pod-logs"
  cat >"$ctd/config.toml" <<TOML
version = 2
root = "$ctd/root"
state = "$ctd/state"
[grpc]
  address = "$ctd/containerd.sock"
[ttrpc]
  address = "$ctd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$ctd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$RUN/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$ctd/certs.d"
TOML
  cat >"$ctd/certs.d/$REGISTRY/hosts.toml" <<TOML
server = "http://$REGISTRY"
[host."http://$REGISTRY"]
  capabilities = ["pull", "resolve"]
  skip_verify = true
TOML
  # A bridge with the host as gateway (so the host reaches pod IPs) and no default route in
  # the pods: nothing leaves the machine, and no iptables rule is added.
  cat >"$RUN/cni/net.d/10-ferry.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "ferry-test",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "dataDir": "$RUN/cni/ipam"
      }
    },
    {"type": "loopback"}
  ]
}
JSON
  cat >"$RUN/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $((KUBELET_PORT - 2))
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $RUN/pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $RUN/pki/kubelet.crt
tlsPrivateKeyFile: $RUN/pki/kubelet.key
containerRuntimeEndpoint: unix://$ctd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
failCgroupV1: false
failSwapOn: false
podCIDR: $POD_CIDR
resolvConf: /etc/resolv.conf
serializeImagePulls: false
evictionHard: {memory.available: 1Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
protectKernelDefaults: false
# No KUBE-IPTABLES-HINT, KUBE-FIREWALL or canary chains in the host's iptables.
makeIPTablesUtilChains: false
podLogsDirectory: $RUN/pod-logs
YAML
  # The node script runs in a private mount namespace: the sysctl files the kubelet rewrites are
  # bind-mounted from copies, so the host keeps its settings.
  cat >"$RUN/node.sh" <<SH
#!/usr/bin/env bash
set -euo pipefail
for c in $(cgroup_dirs | tr '\n' ' '); do echo \$\$ >"\$c/$CGROUP_ROOT/node/cgroup.procs"; done
for f in vm/overcommit_memory kernel/panic kernel/panic_on_oops; do
  copy="$RUN/sysctl/\${f//\//_}"
  cat "/proc/sys/\$f" >"\$copy"
  mount --bind "\$copy" "/proc/sys/\$f"
done
# What containerd and the CNI plugins keep in fixed host folders (network namespace
# files, shim sockets, the CNI cache) stays in this namespace too.
mkdir -p /var/run/netns /run/containerd/s /var/lib/cni "$RUN/cni/cache"
mount -t tmpfs tmpfs /var/run/netns
mount -t tmpfs tmpfs /run/containerd/s
mount --bind "$RUN/cni/cache" /var/lib/cni
containerd --config "$ctd/config.toml" >"$RUN/log/containerd.log" 2>&1 &
echo \$! >"$RUN/pid/containerd"
for _ in \$(seq 1 100); do [[ -S "$ctd/containerd.sock" ]] && break; sleep 0.1; done
ctr --address "$ctd/containerd.sock" -n k8s.io images import "$RUN/pause.tar" >/dev/null
"$BIN/kubelet" --config "$RUN/kubelet.yaml" --kubeconfig "$RUN/kubelet.kubeconfig" \
  --root-dir "$RUN/kubelet" --cert-dir "$RUN/pki" --hostname-override localhost \
  >"$RUN/log/kubelet.log" 2>&1 &
echo \$! >"$RUN/pid/kubelet"
wait
SH
  chmod +x "$RUN/node.sh"
}

# pause_image writes $RUN/pause.tar: a docker-archive image FROM scratch holding the static
# pause program, for `ctr images import`.
pause_image() {
  local dir="$RUN/pause"
  mkdir -p "$dir/rootfs" "$dir/image"
  (cd "$HERE/../.." && CGO_ENABLED=0 go build -ldflags "-s -w" -o "$dir/rootfs/pause" ./hack/k8s/pause)
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir/rootfs" -cf "$dir/layer.tar" pause
  local layer; layer=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  mkdir -p "$dir/image/$layer"
  mv "$dir/layer.tar" "$dir/image/$layer/layer.tar"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$layer" >"$dir/config.json"
  local cfg; cfg=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  mv "$dir/config.json" "$dir/image/$cfg.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$cfg" "$PAUSE_IMAGE" "$layer" \
    >"$dir/image/manifest.json"
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$dir/image" -cf "$RUN/pause.tar" .
}

up_node() {
  [[ $(id -u) -eq 0 ]] || die "the node needs root (containerd, mounts, cgroups); 'up api' runs without"
  kubeconfig "$RUN/kubelet.kubeconfig" kubelet
  pause_image
  make_cgroups
  write_node_config
  start node unshare --mount --propagation private "$RUN/node.sh"
  wait_for "the node" 90 kubectl_ wait --for=condition=Ready node/localhost --timeout=1s
}

cmd_up() {
  local mode=${1:-full}
  [[ $mode == full || $mode == api ]] || die "up takes no argument or 'api'"
  [[ -e "$RUN/pid" ]] && die "a cluster is already running from $RUN: run '$0 down' first"
  built || die "the binaries are not built: run '$0 build' first (~12 min the first time)"
  cmd_deps
  local start=$SECONDS
  mkdir -p "$RUN"
  echo "$mode" >"$RUN/mode"
  make_pki
  kubeconfig "$RUN/admin.kubeconfig" admin
  trap 'log "up failed; tearing down"; cmd_down' ERR
  up_control_plane
  log "API server ready after $((SECONDS - start))s"
  if [[ $mode == full ]]; then
    up_controllers
    up_node
    log "node Ready after $((SECONDS - start))s"
  fi
  alive
  trap - ERR
  cmd_env
}

# alive fails when a process that up started has exited.
alive() {
  local f
  for f in "$RUN"/pid/*; do
    kill -0 "$(cat "$f")" 2>/dev/null && continue
    log "$(basename "$f") exited; the end of its log ($RUN/log):"
    tail -n 20 "$RUN/log/$(basename "$f").log" >&2 || true
    return 1
  done
}

cmd_env() {
  [[ -f "$RUN/admin.kubeconfig" ]] || die "no cluster is running from $RUN: run '$0 up'"
  echo "KUBECONFIG=$RUN/admin.kubeconfig"
  echo "FERRY_K8S_MODE=$(cat "$RUN/mode")"
  echo "FERRY_K8S_REGISTRY=$REGISTRY"
  echo "FERRY_K8S_BIN=$BIN"
  echo "FERRY_K8S_CONTAINERD=$RUN/containerd/containerd.sock"
}

# stop NAME...: SIGTERM the processes recorded for the NAMEs, together, and SIGKILL those left
# after 10 s.
stop() {
  local name f pids=()
  for name in "$@"; do
    f="$RUN/pid/$name"
    [[ -f $f ]] || continue
    pids+=("$(cat "$f")")
    rm -f "$f"
  done
  [[ ${#pids[@]} -gt 0 ]] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  local deadline=$((SECONDS + 10)) pid left
  while ((SECONDS < deadline)); do
    left=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && left=1; done
    ((left)) || return 0
    sleep 0.1
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
}

cmd_down() {
  [[ -d $RUN ]] || return 0
  stop kubelet containerd node
  # The cgroups and the bridge have fixed names: only a full cluster's down touches them, so
  # the down of an API-only cluster leaves the node of the full one running beside it.
  [[ "$(cat "$RUN/mode" 2>/dev/null)" == full ]] && down_node
  stop kube-scheduler kube-controller-manager kube-apiserver
  stop etcd
  # The node's mounts lived in its private namespace and went with it; only directories remain.
  if grep -q " $RUN/" /proc/mounts; then
    die "mounts under $RUN are still present; not removing it"
  fi
  rm -rf "$RUN"
}

# down_node kills by PID whatever is left under the node's cgroups (container shims, pods'
# processes), removes the cgroups, deepest first, and the bridge.
down_node() {
  local c pid
  for c in $(cgroup_dirs); do
    [[ -d "$c/$CGROUP_ROOT" ]] || continue
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < <(find "$c/$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done
  for c in $(cgroup_dirs); do
    [[ -d "$c/$CGROUP_ROOT" ]] || continue
    for _ in $(seq 1 20); do
      find "$c/$CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d "$c/$CGROUP_ROOT" ]] || break
      sleep 0.1
    done
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  # The node made this folder (empty on the host: its files were in the node's namespace).
  rmdir /var/run/netns 2>/dev/null || true
}

case "${1:-}" in
  build) cmd_build ;;
  built) built ;;
  bin) echo "$BIN" ;;
  deps) cmd_deps ;;
  up) cmd_up "${2:-}" ;;
  env) cmd_env ;;
  down) cmd_down ;;
  *) die "usage: $0 build|built|bin|deps|up [api]|env|down" ;;
esac
