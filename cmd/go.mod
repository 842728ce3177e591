module github.com/octomil/secagg/cmd

go 1.26

require (
	codeberg.org/sbinet/npyio v0.14.0
	github.com/klauspost/cpuid/v2 v2.4.2
	github.com/octomil/secagg v0.0.0
	github.com/stretchr/testify v1.12.1
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/campoy/embedmd v1.0.0 // indirect
	github.com/nlpodyssey/gopickle v0.3.0 // indirect
	github.com/pmezard/go-difflib v1.0.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.34.0 // indirect
)

replace github.com/octomil/secagg => ../
