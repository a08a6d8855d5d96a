/// Linux networking for Updraft's dataplane: bridges, taps, veth pairs, network namespaces,
/// nftables and dnsmasq, each driven through its own program with a deadline (`ip`, `nft`,
/// `sysctl`, `dnsmasq`). A leaf: it imports nothing of Updraft.
///
/// Everything it makes carries Updraft's prefix (``Names``), so a reconcile can tell what is
/// its own and never touches the host's interfaces, routes or firewall rules.
public enum LinuxNet {}
