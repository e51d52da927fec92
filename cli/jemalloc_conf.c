/* Built only when the program is linked with jemalloc (meson.build).
 *
 * jemalloc reads its defaults from this symbol, before main; MALLOC_CONF
 * in the environment still overrides them. "thp:always" asks the kernel
 * for 2 MiB pages (madvise) for the heap. Every connection's state is a
 * handful of small objects spread over the heap, and with tens of
 * thousands open at once a 4 KiB-page TLB miss on nearly each packet
 * (a two-level page walk in a virtual machine) was the largest cost:
 * on open.pcap (60k sessions open at once) the run took 0.690 s with
 * 4 KiB pages and 0.444 s with 2 MiB pages, best of seven, for 14 MiB
 * more peak RSS (bench/README.md). Where THP is off ("never") the
 * kernel ignores the request. */
const char *malloc_conf = "thp:always";
