module example.com/webapp/api

go 1.22
