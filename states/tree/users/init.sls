# The image ships with a default account; its password is replaced at once
# by the hash in pillar (never a clear-text password in the tree).
{% for name, user in pillar.get('users', {}).items() %}
user-{{ name }}:
  user.present:
    - name: {{ name }}
    - uid: {{ user.uid }}
    - home: /home/{{ name }}
    - shell: {{ user.get('shell', '/bin/sh') }}
    - password: '{{ user.password_hash }}'
{% endfor %}
