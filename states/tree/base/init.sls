# Time zone, locale and keyboard: the first things a new device needs.
timezone:
  timezone.system:
    - name: {{ pillar.get('timezone', 'Etc/UTC') }}

locale:
  locale.system:
    - name: {{ pillar.get('locale', 'en_US.UTF-8') }}

keyboard:
  keyboard.system:
    - name: {{ pillar.get('keyboard', 'us') }}

motd:
  file.managed:
    - name: /etc/motd
    - source: fleet://base/motd.j2
    - template: jinja
    - makedirs: True
    - mode: '0644'
