# The message bus client: where the device publishes its data.
bus-config:
  file.managed:
    - name: /etc/fleet-app/bus.conf
    - makedirs: True
    - mode: '0640'
    - contents: |
        broker = {{ pillar.get('bus:broker', 'localhost:1883') }}
        client_id = {{ grains['id'] }}
        topic = {{ pillar.get('bus:topic_prefix', 'fleet') }}/{{ grains['id'] }}
