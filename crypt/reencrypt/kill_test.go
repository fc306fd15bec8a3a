package reencrypt_test

// childEnv, when set, makes the test binary run the job as a child process
// of TestKillResume instead of running tests.
const childEnv = "FIELDCRYPT_REENCRYPT_CHILD"

func runChild() int { return 2 }
