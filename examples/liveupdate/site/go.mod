module example.com/liveupdate/site

go 1.22
