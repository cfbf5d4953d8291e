# Marks active projects whose end date has passed as completed.
# Dates are compared as ISO 8601 strings, which is portable across engines.
PREFIX ex: <{{ base_iri }}>

DELETE { ?project ex:status ex:Active }
INSERT { ?project ex:status ex:Completed }
WHERE {
  ?project a ex:Project ;
           ex:status ex:Active ;
           ex:endDate ?end .
  FILTER(STR(?end) < SUBSTR(STR(NOW()), 1, 10))
}
