# The VPN client: its configuration (secret, so 0600) and its service,
# restarted whenever the configuration changes.
vpn-config:
  file.managed:
    - name: /etc/fleet-vpn/client.conf
    - makedirs: True
    - mode: '0600'
    - contents: |
        [Interface]
        Address = {{ pillar['vpn']['address'] }}
        PrivateKey = {{ pillar['vpn']['private_key'] }}
        [Peer]
        Endpoint = {{ pillar['vpn']['endpoint'] }}

vpn-service-dir:
  file.managed:
    - name: /etc/sv/fleet-vpn/run
    - makedirs: True
    - mode: '0755'
    - contents: |
        #!/bin/sh
        exec {{ pillar['vpn'].get('command', 'sleep 100000') }}

vpn:
  service.running:
    - name: fleet-vpn
    - enable: True
    - require:
      - file: vpn-service-dir
    - watch:
      - file: vpn-config
