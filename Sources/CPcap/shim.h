#ifndef WIRESTATE_CPCAP_SHIM_H
#define WIRESTATE_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
