timezone: Europe/Berlin
locale: en_US.UTF-8
keyboard: de
site:
  name: depot-7
users:
  operator:
    uid: 2000
    shell: /bin/sh
    # "fleet" hashed with SHA-512 (mkpasswd -m sha-512); replace per fleet.
    password_hash: $6$fleetsalt$Xz1ZQ5H9y8O0o3j2b1fGmS4cS0dA3k5s5sLqzj0Yw2oE3o7c4t0u5m3Q9g1b0yG2Z7hA1vB3nC5xD7eF9gH1i.
network:
  interface: eth0
  dhcp: True
bus:
  broker: bus.example.net:8883
  topic_prefix: fleet/telemetry
runtime:
  packages: []
vpn:
  address: 10.8.0.2/32
  private_key: REPLACE-ME
  endpoint: vpn.example.net:51820
# The RFID reader's device node; a device whose reader sits elsewhere sets
# the rfid_device grain instead (pillar wins over grains for ((rfid_device)),
# so leave it out of pillar on such fleets).
rfid_device: /dev/ttyUSB0
