package main

import (
	"fmt"
	"io"
)

// printHowTo tells the user where the service listens and how to try it.
func printHowTo(w io.Writer, base string, s *server) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("fieldcrypt CRM example: role %s, %s", s.cfg.Role, s.db.where)
	p("listening on %s", base)
	p("")
	p("Try it:")
	p("  curl -s %s/tenants/acme/contacts", base)
	p("  curl -s %s/tenants/acme/contacts/c_0001", base)
	p("  curl -s %s/tenants/acme/contacts/c_0001/interactions", base)
	if s.cfg.Role == RoleAdmin {
		p("  curl -s -G %s/tenants/acme/contacts --data-urlencode 'email=  ADA@Example.com '", base)
		p("  curl -s %s/tenants/acme/contacts?phone_last4=0018", base)
		p("  curl -s %s/tenants/acme/contacts?name_prefix=ADA          # names starting with ada, any case", base)
		p("  curl -s '%s/tenants/acme/contacts?born_from=1980-01-01&born_to=1989-12-31'", base)
		p("  curl -s -X POST %s/tenants/acme/contacts -H 'Content-Type: application/json' \\", base)
		p("       -d '{\"name\":\"Mary Somerville\",\"email\":\"mary@example.org\",\"phone\":\"+44 131 496 0555\"}'")
		p("  curl -s %s/tenants/globex/contacts/c_0101   # another tenant's contact", base)
		p("  curl -s %s/tenants/globex/contacts/c_0001   # 404: acme's contact is not globex's", base)
		p("")
		p("Then restart with -role support: personal fields come back null and \"redacted\",")
		p("the interaction history still reads, and searches of personal fields answer 403.")
	} else {
		p("  curl -s '%s/tenants/acme/contacts?phone_last4=0018'   # 403: the index keys are class pii", base)
		p("  curl -s '%s/tenants/acme/contacts?name_prefix=ada'    # 403 as well", base)
		p("")
		p("This process holds only the support KEK: personal fields come back null and \"redacted\".")
	}
}
