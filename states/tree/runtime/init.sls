# Language runtime packages the applications need.
runtime-packages:
  pkg.installed:
{% if pillar.get('runtime:sources') %}
    - sources: {{ pillar['runtime']['sources'] | json }}
{% else %}
    - pkgs: {{ pillar.get('runtime:packages', []) | json }}
{% endif %}
