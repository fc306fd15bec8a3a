package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"
)

// errNotConfirmed means the user did not confirm a destructive operation.
var errNotConfirmed = errors.New("not confirmed: nothing was changed (pass --yes to skip the question)")

// confirm asks the user to type want on standard input before a
// destructive operation.
func (a *app) confirm(want string) error {
	if a.jsonStderr() {
		a.stderrLogger().Warn(fmt.Sprintf("type %q on standard input to confirm", want), "confirm", want)
	} else {
		fmt.Fprintf(a.env.Stderr, "Type %q to confirm: ", want)
	}
	line, err := bufio.NewReader(a.env.Stdin).ReadString('\n')
	if !a.jsonStderr() {
		fmt.Fprintln(a.env.Stderr)
	}
	if strings.TrimSpace(line) == want && (err == nil || line != "") {
		return nil
	}
	return errNotConfirmed
}
