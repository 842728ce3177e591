package secaggbeam

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"unsafe"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
)

// isolated is the environment variable that marks the test binary as running in its own
// network namespace.
const isolated = "SECAGG_BEAM_NETNS"

// TestMain runs the tests on Prism in a network namespace of their own, where only the
// loopback interface exists: Prism's job server listens on all interfaces (":0") and
// has no option to bind one, so the binary re-executes itself under `unshare -n` and
// brings lo up before any test runs. Where the machine allows no namespace the tests do
// not run (they will not listen outside loopback), and say so on stderr.
func TestMain(m *testing.M) {
	if os.Getenv(isolated) == "" {
		if out, err := exec.Command("unshare", "-n", "true").CombinedOutput(); err != nil {
			// Not a failure of the code under test: the machine allows no namespace,
			// and the tests will not listen outside loopback. Say so loudly.
			fmt.Fprintf(os.Stderr, "secaggbeam: SKIP: no loopback-only network namespace here (unshare -n: %v %s); the Prism tests did not run\n", err, out)
			os.Exit(0)
		}
		cmd := exec.Command("unshare", append([]string{"-n", "--", os.Args[0]}, os.Args[1:]...)...)
		cmd.Env = append(os.Environ(), isolated+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			if exit, ok := err.(*exec.ExitError); ok {
				os.Exit(exit.ExitCode())
			}
			fmt.Fprintf(os.Stderr, "secaggbeam: running the tests under unshare -n: %v\n", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	if err := loopbackUp(); err != nil {
		fmt.Fprintf(os.Stderr, "secaggbeam: bringing up lo in the test's namespace: %v\n", err)
		os.Exit(2)
	}
	ptest.MainWithDefault(m, "prism")
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

// envInt reads a positive integer from the environment, or returns def.
func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(name), &v); err == nil && v > 0 {
		return v
	}
	return def
}
