// placeholder: the lockspace driver is written in its own commit
