module example.com/stack/db

go 1.22
