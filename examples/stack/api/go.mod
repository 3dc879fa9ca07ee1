module example.com/stack/api

go 1.22
