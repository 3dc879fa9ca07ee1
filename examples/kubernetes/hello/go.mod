module example.com/kubernetes/hello

go 1.22
