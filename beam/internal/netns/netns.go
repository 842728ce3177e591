// Package netns runs a test binary in a network namespace of its own, where only the
// loopback interface exists: Beam's Prism runner listens on every interface (":0") and
// has no option to bind one, and the project's tests listen on loopback only.
package netns

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"unsafe"
)

// isolated marks a process that runs in its own namespace already.
const isolated = "SECAGG_BEAM_NETNS"

// Isolate re-executes the test binary under `unshare -n` and exits with its status; in
// the re-executed binary it brings lo up and returns. Where the machine allows no
// namespace the tests do not run (they will not listen outside loopback): it says so on
// stderr and exits 0.
func Isolate(name string) {
	if os.Getenv(isolated) != "" {
		if err := loopbackUp(); err != nil {
			fmt.Fprintf(os.Stderr, "%s: bringing up lo in the test's namespace: %v\n", name, err)
			os.Exit(2)
		}
		return
	}
	if out, err := exec.Command("unshare", "-n", "true").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: SKIP: no loopback-only network namespace here (unshare -n: %v %s); the Prism tests did not run\n", name, err, out)
		os.Exit(0)
	}
	cmd := exec.Command("unshare", append([]string{"-n", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), isolated+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "%s: running the tests under unshare -n: %v\n", name, err)
		os.Exit(2)
	}
	os.Exit(0)
}

// loopbackUp sets IFF_UP on lo, as `ip link set lo up` does.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var req struct {
		name  [syscall.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&req))); e != 0 {
		return e
	}
	req.flags |= syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&req))); e != 0 {
		return e
	}
	return nil
}
