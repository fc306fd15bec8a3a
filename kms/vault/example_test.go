package vault_test

import (
	"fmt"

	"github.com/fieldcrypt/fieldcrypt/kms/vault"
)

func ExamplePolicyHCL() {
	policy, err := vault.PolicyHCL("hcvault://transit/keys/pii")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(policy)
	// Output:
	// path "transit/encrypt/pii" {
	//   capabilities = ["update"]
	// }
	// path "transit/decrypt/pii" {
	//   capabilities = ["update"]
	// }
	// path "transit/rewrap/pii" {
	//   capabilities = ["update"]
	// }
}
