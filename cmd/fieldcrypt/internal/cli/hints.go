package cli

// keyringHint adds to a keyring error what the operator can do about it:
// which KEK setting a class lacks.
func (a *app) keyringHint(err error, class string) error {
	return a.noAccessHint(err, class)
}
