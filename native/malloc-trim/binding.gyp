{
  "targets": [
    {
      "target_name": "trim",
      "sources": ["trim.c"]
    }
  ]
}
