module {{ cookiecutter.go_module_path }}

go 1.22

toolchain go1.26.8

require (
	github.com/thingsdb/go-thingsdb v1.0.7
	github.com/thingsdb/go-timod v0.0.3
	github.com/vmihailenco/msgpack/v4 v4.3.13
)

require (
	github.com/golang/protobuf v1.5.3 // indirect
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser v0.1.2 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	google.golang.org/appengine v1.6.8 // indirect
	google.golang.org/protobuf v1.32.0 // indirect
)
