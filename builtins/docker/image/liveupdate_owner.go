package image

// Who owns the files a live update copies into a container: its user, as
// the runtime resolves it.

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// maxAccountFile bounds the /etc/passwd or /etc/group read from a container.
const maxAccountFile = 1 << 20

// owner returns the uid and gid of container id's user (its USER, or the
// service's user =), resolved as the runtime does: a name through the
// container's /etc/passwd and /etc/group, a numeric user without a group
// to its primary group there, or 0 when it has none. The result is kept
// per container, which cannot change its user.
func (i *Image) owner(ctx context.Context, id string) (uid, gid int, err error) {
	i.synced.mu.Lock()
	o, ok := i.synced.owner[id]
	i.synced.mu.Unlock()
	if ok {
		return o[0], o[1], nil
	}
	info, err := i.docker.ContainerInfo(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	read := func(name string) []byte {
		b, _ := i.docker.ReadContainerFile(ctx, id, name, maxAccountFile)
		return b
	}
	if uid, gid, err = resolveUser(info.User, read); err != nil {
		return 0, 0, fallBack("%v", err)
	}
	i.synced.mu.Lock()
	if i.synced.owner == nil {
		i.synced.owner = map[string][2]int{}
	}
	i.synced.owner[id] = [2]int{uid, gid}
	i.synced.mu.Unlock()
	return uid, gid, nil
}

// resolveUser turns a container's user ("", "uid", "name", "uid:gid",
// "name:group"…) into numbers, reading the container's /etc/passwd and
// /etc/group through read (nil or empty when missing) only when needed.
func resolveUser(user string, read func(name string) []byte) (uid, gid int, err error) {
	if user == "" {
		return 0, 0, nil
	}
	u, g, hasGroup := strings.Cut(user, ":")
	uid, err = strconv.Atoi(u)
	numeric := err == nil
	if !numeric || !hasGroup {
		entry, found := account(read("/etc/passwd"), u, !numeric)
		switch {
		case found:
			uid, gid = entry[0], entry[1]
		case !numeric:
			return 0, 0, fmt.Errorf("user %q is not in the container's /etc/passwd, so live update cannot make the synced files its own; give USER (or the service's user =) as uid:gid", u)
		}
	}
	if !hasGroup {
		return uid, gid, nil
	}
	if gid, err = strconv.Atoi(g); err == nil {
		return uid, gid, nil
	}
	entry, found := account(read("/etc/group"), g, true)
	if !found {
		return 0, 0, fmt.Errorf("group %q is not in the container's /etc/group, so live update cannot make the synced files its own; give USER (or the service's user =) as uid:gid", g)
	}
	return uid, entry[0], nil
}

// account finds, in an /etc/passwd or /etc/group file, the entry whose
// name (byName) or number is key, and returns its third and fourth fields
// as numbers (uid and gid for passwd; gid for group).
func account(file []byte, key string, byName bool) ([2]int, bool) {
	for _, line := range bytes.Split(file, []byte("\n")) {
		f := strings.Split(string(line), ":")
		if len(f) < 3 {
			continue
		}
		if byName && f[0] != key || !byName && f[2] != key {
			continue
		}
		var out [2]int
		var err error
		if out[0], err = strconv.Atoi(f[2]); err != nil {
			continue
		}
		if len(f) > 3 {
			out[1], _ = strconv.Atoi(f[3])
		}
		return out, true
	}
	return [2]int{}, false
}
