module example.com/webapp/store

go 1.22
