"""L4 vendors: cases opened with an outside vendor, their answers threaded back into the ticket,
and the vendor's response time measured against its own target."""
