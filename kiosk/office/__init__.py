"""One queue for a whole office: the queue host, its wall display and phone page, and the window kiosks' client."""
