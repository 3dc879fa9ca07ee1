module example.com/autoscale

go 1.22
