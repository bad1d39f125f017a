/* The floor of scripts/benchmark.py: libpcap reading every frame of a capture and nothing else
 * (a bare pcap_next_ex loop, as any libpcap tool must at least do). Prints frames and bytes. */
#include <pcap/pcap.h>
#include <stdio.h>

int main(int argc, char **argv) {
    char err[PCAP_ERRBUF_SIZE];
    if (argc != 2) { fprintf(stderr, "usage: floor FILE\n"); return 2; }
    pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) { fprintf(stderr, "floor: %s\n", err); return 2; }
    struct pcap_pkthdr *h;
    const u_char *data;
    unsigned long long frames = 0, bytes = 0, sum = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        frames++;
        bytes += h->caplen;
        sum += data[h->caplen - 1]; /* touch the bytes, as a decoder would */
    }
    printf("%llu frames %llu bytes %llu\n", frames, bytes, sum & 1);
    pcap_close(p);
    return rc == PCAP_ERROR_BREAK || rc == -2 ? 0 : 1;
}
