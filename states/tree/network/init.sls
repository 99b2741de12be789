# Network configuration: one interfaces file per device, from pillar.
network-config:
  file.managed:
    - name: /etc/network/interfaces.d/{{ pillar.get('network:interface', 'eth0') }}
    - source: fleet://network/interface.j2
    - template: jinja
    - makedirs: True
    - mode: '0644'
