module github.com/fedihook/webhook/cmd/fedihook

go 1.26

require (
	github.com/cenkalti/backoff/v4 v4.3.0
	github.com/fedihook/webhook v0.0.0-00010101000000-000000000000
	github.com/google/uuid v1.6.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace (
	github.com/fedihook/webhook => ../..
	github.com/fedihook/webhook/pgstore => ../../pgstore
	github.com/fedihook/webhook/sqlitestore => ../../sqlitestore
)
