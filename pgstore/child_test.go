package pgstore_test

// childEnv names the environment variable that makes the test binary run
// as a child process of a multi-process test.
const childEnv = "PGSTORE_TEST_CHILD"

func childMain(role string) int {
	_ = role
	return 2
}
